# Stand-in for the official postgres image: Debian's postgresql server with the official
# image's entrypoint conventions (docker-entrypoint.sh beside this file).
ARG BASE
FROM ${BASE}
# No cluster on install (the entrypoint makes one in $PGDATA on first start), no service start.
RUN set -eux; \
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; \
    apt-get update -q; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-common; \
    sed -ri 's/#(create_main_cluster) .*$/\1 = false/' /etc/postgresql-common/createcluster.conf; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql postgresql-client; \
    rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d; \
    ln -s "/usr/lib/postgresql/$(ls /usr/lib/postgresql | sort -V | tail -n1)" /usr/lib/postgresql/current; \
    mkdir -p /var/run/postgresql /docker-entrypoint-initdb.d; \
    chown postgres:postgres /var/run/postgresql; chmod 3777 /var/run/postgresql
ENV PATH=/usr/lib/postgresql/current/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data
RUN mkdir -p "$PGDATA" && chown postgres:postgres "$PGDATA" && chmod 1777 "$PGDATA"
VOLUME /var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENTRYPOINT ["docker-entrypoint.sh"]
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
