# Stand-in for the official mariadb and mysql images: Debian's mariadb-server with the mysql*
# command names (mysqladmin, mysql, mysqld), the official entrypoint's variables
# (MYSQL_* and MARIADB_*), port 3306 on every address.
ARG BASE
FROM ${BASE}
RUN set -eux; \
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; \
    apt-get update -q; \
    compat=$(apt-cache show mariadb-server-compat mariadb-client-compat 2>/dev/null | sed -n 's/^Package: //p' | sort -u | tr '\n' ' '); \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mariadb-server mariadb-client $compat; \
    rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d /var/lib/mysql; \
    mkdir -p /var/lib/mysql /run/mysqld /docker-entrypoint-initdb.d; \
    chown mysql:mysql /var/lib/mysql /run/mysqld; chmod 1777 /run/mysqld; \
    printf '[mysqld]\nbind-address = *\nskip-name-resolve\nsocket = /run/mysqld/mysqld.sock\n[client]\nsocket = /run/mysqld/mysqld.sock\n' \
      >/etc/mysql/mariadb.conf.d/99-pyslim-standin.cnf
VOLUME /var/lib/mysql
COPY mariadb-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENTRYPOINT ["docker-entrypoint.sh"]
EXPOSE 3306
CMD ["mariadbd"]
