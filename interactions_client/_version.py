__version__ = "0.1.0"
API_REVISION = "2026-05-20"
