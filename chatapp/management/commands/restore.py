from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chatapp.backups import BackupError, restore_backup


class Command(BaseCommand):
    help = "Load an archive written by `backup` into a fresh, migrated install."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path)
        parser.add_argument(
            "--force", action="store_true", help="restore even if the install has data"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            summary = restore_backup(options["archive"], force=options["force"])
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(json.dumps(summary))
