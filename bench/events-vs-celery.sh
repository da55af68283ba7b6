#!/usr/bin/env bash
# `vigil bench events` (RabbitMQ) beside its Celery peer, in interleaved rounds on one machine.
#   pip install celery==5.5.3 redis==6.4.0 psutil==7.0.0
#   cargo build --release -p vigil
#   bench/events-vs-celery.sh [rounds] [messages]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
messages=${2:-20000}
for r in $(seq "$rounds"); do
  echo "--- round $r"
  ./target/release/vigil bench events --only amqp --messages "$messages" --status-instances 0
  python3 bench/events_celery/bench.py --messages "$messages"
done
