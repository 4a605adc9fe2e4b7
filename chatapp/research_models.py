"""What Deep Research, webhooks and agent triggers keep between workers and restarts
(chatapp.research, chatapp.gemini_webhooks, chatapp.agent_triggers do the work)."""

from __future__ import annotations

from django.db import models


class ResearchStart(models.Model):
    """A Deep Research turn that confirmed the plan before it ("Start research"): its
    request runs the research instead of asking for another plan."""

    turn = models.OneToOneField("chatapp.Turn", on_delete=models.CASCADE, related_name="+")


class WebhookDelivery(models.Model):
    """A webhook delivery id already accepted, kept until its signature expires (replay
    refusal shared by every worker when there is no Redis)."""

    message_id = models.CharField(max_length=200, unique=True)
    until = models.DateTimeField(db_index=True)


class AgentTrigger(models.Model):
    """The API trigger that runs a schedule of an agent conversation."""

    schedule = models.OneToOneField(
        "chatapp.Schedule", on_delete=models.CASCADE, related_name="agent_trigger"
    )
    trigger_id = models.CharField(max_length=200)


class TriggerRun(models.Model):
    """One execution of a trigger whose result landed in the conversation: the unique id
    makes every worker land it once."""

    execution_id = models.CharField(max_length=200, unique=True)
    schedule = models.ForeignKey("chatapp.Schedule", on_delete=models.CASCADE, related_name="+")
    turn = models.ForeignKey(
        "chatapp.Turn", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
