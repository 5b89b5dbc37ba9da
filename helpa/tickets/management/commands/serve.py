"""`helpa serve`: the production web server (gunicorn) and the background worker (Huey) together,
as `make run` starts them. Ctrl-C stops both."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start the web server and the background worker."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument("--web-workers", type=int, default=3)

    def handle(self, *args: Any, bind: str, web_workers: int, **options: Any) -> None:
        python = sys.executable
        worker = subprocess.Popen([python, "-m", "helpa", "run_huey"])
        web = subprocess.Popen(
            [
                python,
                "-m",
                "gunicorn",
                "helpa.wsgi:application",
                "--bind",
                bind,
                "--workers",
                str(web_workers),
                "--access-logfile",
                "-",
                "--timeout",
                "60",
            ]
        )
        host = bind if not bind.startswith("0.0.0.0") else bind.replace("0.0.0.0", "127.0.0.1")
        self.stdout.write(
            self.style.SUCCESS(f"\nHelpa is running at http://{host}/\n")
            + f"Customer portal: http://{host}/portal/\n"
            + "Demo logins (password: demo): admin@example.com, agent@example.com, "
            "customer@example.com\n" + f"Data directory: {settings.DATA_DIR}\nStop with Ctrl-C.\n"
        )
        processes = [web, worker]

        def stop(*_: Any) -> None:
            for process in processes:
                if process.poll() is None:
                    process.terminate()

        signal.signal(signal.SIGTERM, stop)
        try:
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            stop()
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
