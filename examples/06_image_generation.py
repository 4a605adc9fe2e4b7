"""Quickstart 6: generate an image."""

import base64
import os

from interactions_client import Client

client = Client()

interaction = client.interactions.create(
    model="gemini-3.1-flash-image",
    input="Generate an image of a futuristic city skyline at sunset",
)

out = os.environ.get("EXAMPLE_OUTPUT_DIR", ".")
with open(os.path.join(out, "generated_image.png"), "wb") as f:
    f.write(base64.b64decode(interaction.output_image.data))
print("Saved", os.path.join(out, "generated_image.png"))
