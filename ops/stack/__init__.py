"""The stack test: the whole product built and run with Docker Compose, then exercised over HTTP.

``python -m ops.stack`` (``make stack-test``) starts dockerd if needed, builds the local base
images from Debian packages (:mod:`ops.stack.images`), builds our image cold and cached, brings
up ``docker-compose.yml`` + ``docker-compose.ci.yml`` (every service on the host network), runs
the documented retraining command and the checks of :mod:`ops.stack.checks`, prints the figures
and always tears the stack down. Exit code 0 when every check passed.
"""
