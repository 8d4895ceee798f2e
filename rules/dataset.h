// Named sets of values that rules test a buffer against (dataset:isset,NAME), so blocklists
// are data: they change without touching rules. File format is Suricata's: one value per
// line; `string` values base64-encoded, `md5`/`sha256` values as hex.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>

namespace sluice::rules {

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class Dataset {
  public:
    enum class Type : uint8_t { String, Md5, Sha256 };
    static bool type_from_name(std::string_view name, Type& out);

    Dataset(std::string name, Type type) : name_(std::move(name)), type_(type) {}

    // Loads lines in the file format; false with a message naming the line on error.
    bool load(std::string_view text, std::string& error);
    // Adds a value as it appears in the buffer (not encoded).
    bool add(std::string_view value);
    bool remove(std::string_view value);
    bool contains(std::string_view buffer_value) const;

    const std::string& name() const { return name_; }
    Type type() const { return type_; }
    size_t size() const { return values_.size(); }

  private:
    std::string name_;
    Type type_;
    std::unordered_set<std::string, StringHash, std::equal_to<>> values_;
};

}  // namespace sluice::rules
