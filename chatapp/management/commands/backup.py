from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from chatapp.backups import write_backup


class Command(BaseCommand):
    help = "Write a consistent archive of the database and the stored files (the app may run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path, help="where to write it, e.g. chat.tar.gz")

    def handle(self, *args: Any, **options: Any) -> None:
        manifest = write_backup(options["archive"])
        self.stdout.write(json.dumps(manifest))
