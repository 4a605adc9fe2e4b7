"""Quickstart 5: understand a local image and a remote audio file in one request."""

import base64
from pathlib import Path

from interactions_client import Client

client = Client()

# Load a local image
with open(Path(__file__).with_name("sample.jpg"), "rb") as f:
    image_bytes = f.read()
image_b64 = base64.b64encode(image_bytes).decode("utf-8")

interaction = client.interactions.create(
    model="gemini-3.5-flash",
    input=[
        {"type": "text", "text": "Compare this local image and this remote audio file."},
        {"type": "image", "data": image_b64, "mime_type": "image/jpeg"},
        {
            "type": "audio",
            "uri": "https://storage.googleapis.com/generativeai-downloads/data/sample.mp3",
            "mime_type": "audio/mp3",
        },
    ],
)
print(interaction.output_text)
