"""Quickstart 3: stream the answer as it is generated."""

from interactions_client import Client

client = Client()

stream = client.interactions.create(
    model="gemini-3.5-flash",
    input="Explain how AI works",
    stream=True,
)
for event in stream:
    print(event)
