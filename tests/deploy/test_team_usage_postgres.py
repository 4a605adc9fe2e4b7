"""The team usage report on PostgreSQL: its sums read integers out of the turns' `usage`
JSON (`KT` and a cast) and group by day, which each database spells its own way."""

from __future__ import annotations

import json
from pathlib import Path

from tests.harness.postgres import fresh_database
from tests.harness.servers import manage, server_env

SCRIPT = """
import json
from datetime import UTC, datetime, timedelta
from django.contrib.auth import get_user_model
from chatapp import team_usage
from chatapp.models import ArchivedUsage, Conversation, ModelPrice, Turn

today = datetime.now(UTC).date()
users = [get_user_model().objects.create_user(name) for name in ("ann", "ben")]
for owner, model, tokens, worker in (
    (users[0], "gemini-3.5-flash", 4_000_000, "w"),
    (users[1], "gemini-3.5-flash", 400_000, "w"),
    (users[1], "priced-here", 2_000_000, "w"),
    (users[1], "gemini-3.5-flash", 999, ""),
):
    conversation = Conversation.objects.create(owner=owner, model=model)
    Turn.objects.create(
        conversation=conversation, model=model, status="completed", worker=worker,
        finished=datetime.now(UTC),
        usage={"total_input_tokens": tokens // 4, "total_output_tokens": tokens - tokens // 4,
               "total_tokens": tokens, "total_thought_tokens": 0},
    )
ArchivedUsage.objects.create(user=users[1], day=today, messages=1, total_tokens=30)
ModelPrice.objects.create(model="priced-here", input=1, output=1, cached_input=1)
data = team_usage.report(today - timedelta(days=6), today)
print(json.dumps({
    "people": {
        line.label: [line.messages, line.total_tokens, str(line.cost)] for line in data.people
    },
    "models": {line.label: [line.total_tokens, str(line.cost)] for line in data.models},
    "today": [data.tokens_per_day[today], str(data.cost_per_day[today])],
}))
"""


def test_the_team_usage_report_sums_json_usage_on_postgresql(tmp_path: Path) -> None:
    with fresh_database("team_usage") as database:
        env = server_env(tmp_path / "var", DATABASE_URL=database)
        manage(env, "migrate", "--no-input")
        found = json.loads(manage(env, "shell", "-c", SCRIPT).strip().splitlines()[-1])
    assert set(found["people"]) == {"ann", "ben"}  # the imported turn counts for nobody
    ann, ben = found["people"]["ann"], found["people"]["ben"]
    assert float(ann[2]) == 9.5 and ben[:2] == [3, 2_400_030] and float(ben[2]) == 2.95
    assert found["models"]["priced-here"][0] == 2_000_000
    assert float(found["models"]["priced-here"][1]) == 2.0
    assert found["models"]["Deleted conversations and replaced answers"] == [30, "0"]
    assert found["today"][0] == 6_400_030 and float(found["today"][1]) == 12.45
