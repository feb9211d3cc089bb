"""Create the lake's bucket in the object store once it answers (compose service brain-init).

s3a does not create buckets. The store is whatever ``object_store.endpoint`` names
(BRAIN_ENV=cluster: the compose service ``object-store``), reached with the credentials
brain.storage takes from BRAIN_S3_ACCESS_KEY / BRAIN_S3_SECRET_KEY.
"""

import sys
import time

from brain import config, storage
from brain.ops import object_store


def main(timeout_s: float = 120.0) -> int:
    cfg = config.load()
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            object_store.ensure_bucket(cfg, log=print)
            print(f"bucket {cfg.get('object_store.bucket')} ready at {cfg.get('object_store.endpoint')}")
            return 0
        except storage.StorageError as exc:  # no credentials: waiting will not bring them
            print(f"create_bucket: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:  # the store is still starting: connection refused, 5xx
            if time.monotonic() > deadline:
                print(f"the object store did not answer within {timeout_s:.0f}s: {exc}", file=sys.stderr)
                return 1
            time.sleep(2)


if __name__ == "__main__":
    sys.exit(main())
