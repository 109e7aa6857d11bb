"""A client library from the npm registry in a temporary folder, for the
tests that drive Impuls with the real thing (the AWS SDK, puppeteer-core)."""
import contextlib
import json
import os
import shutil
import subprocess
import tempfile

import pytest


@contextlib.contextmanager
def npm_installed(package, prefix):
    """A temp dir with package.json and `package` installed; skips the test
    when the registry cannot be reached at all, fails when it can but the
    install fails."""
    d = tempfile.mkdtemp(prefix=prefix)
    try:
        with open(os.path.join(d, "package.json"), "w") as f:
            json.dump({"name": prefix.strip("-"), "version": "1.0.0", "private": True}, f)
        p = subprocess.run(["npm", "install", "--no-audit", "--no-fund", package], cwd=d,
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            ping = subprocess.run(["npm", "ping"], cwd=d, capture_output=True, text=True, timeout=60)
            if ping.returncode != 0:
                pytest.skip(f"the npm registry cannot be reached: {ping.stderr.strip()[-300:]}")
            pytest.fail(f"npm install failed: {p.stderr[-2000:]}")
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)
