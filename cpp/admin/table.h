#ifndef COMETMQ_ADMIN_TABLE_H_
#define COMETMQ_ADMIN_TABLE_H_

#include <string>
#include <vector>

namespace cometmq::admin {

// A text table for people: a header row and data rows, every column padded
// to its widest cell and separated by two spaces (the last column is not
// padded, so lines carry no trailing blanks). Rows shorter than the header
// are padded with empty cells.
class Table {
 public:
  explicit Table(std::vector<std::string> headers);

  void AddRow(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }
  // Header and rows, one line each, each ending in '\n'.
  std::string Render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace cometmq::admin

#endif  // COMETMQ_ADMIN_TABLE_H_
