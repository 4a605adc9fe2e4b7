"""Test settings: the defaults of chatapp.settings with the few test-only values."""

import os

from chatapp.settings import *  # noqa: F403
from chatapp.settings import VAR_DIR

SECRET_KEY = "test-secret-key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A file (not :memory:) so threads of async tests share it; one per process so that
# parallel runs on one machine do not trample each other.
_TEST_DB = VAR_DIR / f"test-{os.getpid()}.sqlite3"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": _TEST_DB,
        "TEST": {"NAME": _TEST_DB},
    }
}
# Never let a key or a Redis URL from the developer's shell reach the tests.
GEMINI_API_KEY = ""
USE_SIMULATOR = True
SIMULATOR_TOKENS_PER_SECOND = 0
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# Titles stay the first message unless a test asks for the title model (tests/app/test_titles).
CHAT_TITLE_MODEL = ""
# Recovery runs when a test asks for it, not on a timer.
CHAT_RECOVERY_INTERVAL_SECONDS = 0
CHAT_SCHEDULE_INTERVAL_SECONDS = 0  # scheduled prompts run when a test asks
