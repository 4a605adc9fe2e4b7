"""Quickstart 10: run a managed agent in a remote sandbox."""

from interactions_client import Client

client = Client()

interaction = client.interactions.create(
    agent="antigravity-preview-05-2026",
    input=(
        "Write a Python script that generates the first 20 Fibonacci numbers and saves them"
        " to fibonacci.txt. Then read the file and print its contents."
    ),
    environment="remote",
)
print(f"Environment: {interaction.environment_id}")
print(interaction.output_text)
