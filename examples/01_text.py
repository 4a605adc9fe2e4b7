"""Quickstart 2: your first call."""

from interactions_client import Client

client = Client()

interaction = client.interactions.create(
    model="gemini-3.5-flash",
    input="Explain how AI works in a few words",
)
print(interaction.output_text)
