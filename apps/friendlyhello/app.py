"""The Docker tutorial's friendlyhello app, on Python 3."""

import os
import socket

from flask import Flask
from redis import Redis, RedisError

# Short timeouts: without Redis the page must still answer at once.
redis = Redis(host=os.environ.get("REDIS_HOST", "redis"), db=0,
              socket_connect_timeout=2, socket_timeout=2)

app = Flask(__name__)


@app.route("/")
def hello():
    try:
        visits = redis.incr("counter")
    except RedisError:
        visits = "<i>cannot connect to Redis, counter disabled</i>"

    html = "<h3>Hello {name}!</h3>" \
           "<b>Hostname:</b> {hostname}<br/>" \
           "<b>Visits:</b> {visits}"
    return html.format(name=os.getenv("NAME", "World"), hostname=socket.gethostname(), visits=visits)


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=80)
