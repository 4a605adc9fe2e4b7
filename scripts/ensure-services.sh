#!/bin/sh
# Make sure PostgreSQL and Redis answer on 127.0.0.1 for the deployment tests (tests/deploy).
# They are installed on these machines; a stopped one is started the way the machine does it.
set -eu

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    echo "ensure-services: starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "ensure-services: starting Redis" >&2
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
for _ in 1 2 3 4 5 6 7 8 9 10; do
    if pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
        exit 0
    fi
    sleep 1
done
echo "ensure-services: PostgreSQL or Redis did not come up on 127.0.0.1" >&2
exit 1
