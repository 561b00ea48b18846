-- Caps a transactional task: the server ends the session, rolling the transaction back, when it sits idle
-- inside it for longer than $1 milliseconds (a hung handler must not pin the xmin horizon forever).
SELECT set_config('idle_in_transaction_session_timeout', $1::text, true)
