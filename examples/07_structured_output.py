"""Quickstart 7: structured output that matches a JSON schema."""

from typing import List, Optional  # noqa: UP035 (as in the quickstart)

from pydantic import BaseModel, Field

from interactions_client import Client


class Recipe(BaseModel):
    recipe_name: str = Field(description="Name of the recipe.")
    ingredients: List[str] = Field(description="List of ingredients.")  # noqa: UP006
    prep_time_minutes: Optional[int] = Field(description="Prep time in minutes.")  # noqa: UP045


client = Client()

interaction = client.interactions.create(
    model="gemini-3.5-flash",
    input="Give me a recipe for banana bread",
    response_format={
        "type": "text",
        "mime_type": "application/json",
        "schema": Recipe.model_json_schema(),
    },
)

recipe = Recipe.model_validate_json(interaction.output_text)
print(recipe)
