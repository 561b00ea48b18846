-- Leadership of the maintenance services: a lease row renewed with the database's clock, so that it needs
-- no session state (a session advisory lock would not survive a transaction-pooling PgBouncer).
CREATE TABLE @schema@.leader (
    name        text PRIMARY KEY,
    holder      text NOT NULL,
    expires_at  timestamptz NOT NULL
);
