"""Quickstart 11: run a long task in the background and poll for its result."""

import os
import time

from interactions_client import Client

client = Client()

interaction = client.interactions.create(
    model="gemini-3.5-flash",
    input=(
        "Write a detailed analysis of the impact of artificial intelligence on modern healthcare."
    ),
    background=True,
)
print(f"Started background task: {interaction.id}")
print(f"Status: {interaction.status}")

# Poll for completion
while True:
    result = client.interactions.get(interaction.id)
    print(f"Status: {result.status}")
    if result.status == "completed":
        print(f"\nResult:\n{result.output_text}")
        break
    elif result.status == "failed":
        print(f"Failed: {result.error}")
        break
    time.sleep(float(os.environ.get("EXAMPLE_POLL_SECONDS", "5")))
