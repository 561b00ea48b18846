// Puts a job in the same pqxx::work as the order it belongs to, through pq's SQL API (docs/sql.md): both are
// written, or neither.
//   usage: pq-example-libpqxx CONNINFO SCHEMA ORDER_ID [--fail]
// Exit status: 0 with the job's id on stdout; 1 when the order failed (--fail) and nothing was written; 2 for a
// usage error; 3 for a database error, printed with its SQLSTATE.
#include <iostream>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>

int main(int argc, char** argv) {
  if (argc < 4 || argc > 5 || (argc == 5 && std::string(argv[4]) != "--fail")) {
    std::cerr << "usage: pq-example-libpqxx CONNINFO SCHEMA ORDER_ID [--fail]\n";
    return 2;
  }
  try {
    const int order = std::stoi(argv[3]);
    pqxx::connection conn(argv[1]);
    pqxx::work work(conn);
    work.exec0("CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY, customer text)");
    work.exec_params("INSERT INTO orders (id, customer) VALUES ($1, $2)", order, "ada");
    const auto put = work.exec_params("SELECT " + work.quote_name(argv[2]) + ".put($1, $2::jsonb, kind => $3)",
                                      "emails", "{\"order\": " + std::to_string(order) + "}", "confirm");
    const auto id = put[0][0].as<long long>();
    if (argc == 5) throw std::runtime_error("order " + std::to_string(order) + " failed after its job was put");
    work.commit();
    std::cout << id << "\n";
    return 0;
  } catch (const pqxx::sql_error& error) {
    std::cerr << error.what() << " (SQLSTATE " << error.sqlstate() << ")\n";
    return 3;
  } catch (const std::runtime_error& error) {  // the work rolls back as it goes out of scope
    std::cerr << error.what() << "\n";
    return 1;
  }
}
