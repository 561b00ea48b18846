-- Serialises pq::PQ::create() across processes for one schema ($1), until the transaction ends. A
-- transaction-scoped lock holds no session state, so it also works behind a transaction-pooling PgBouncer.
SELECT pg_advisory_xact_lock(hashtext('pq.create'), hashtext($1::text))
