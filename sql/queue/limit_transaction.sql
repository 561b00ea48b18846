-- Caps a transactional task's transaction at $1 milliseconds two ways: the server ends the session, rolling
-- the transaction back, when it sits idle inside it for longer (a hung handler must not pin the xmin horizon
-- forever), and cancels any one statement that runs longer (the idle timeout never fires while a statement
-- runs). The worker also refuses to commit a run that outlived its timeout.
SELECT set_config('idle_in_transaction_session_timeout', $1::text, true),
       set_config('statement_timeout', $1::text, true)
