"""Runs the impuls CLI against a daemon: (exit code, stdout, stderr)."""
import os
import subprocess

from impuls_daemon import BIN


def cli(daemon, *args, stdin=None, addr=None):
    env = dict(os.environ, IMPULS_ADDR=addr or f"127.0.0.1:{daemon.port}")
    p = subprocess.run([BIN, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60)
    return p.returncode, p.stdout, p.stderr
