#include "rules/rule_set.h"

#include "rules/class_slots.h"
#include "rules/dataset_path.h"
#include "rules/shipped_files.h"

#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace sluice::rules {

namespace fs = std::filesystem;

namespace {

bool read_file(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return true;
}

std::string sha256_hex(const std::vector<RuleSource>& sources) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    for (const RuleSource& s : sources) {
        EVP_DigestUpdate(ctx, s.name.data(), s.name.size());
        EVP_DigestUpdate(ctx, "\0", 1);
        EVP_DigestUpdate(ctx, s.text.data(), s.text.size());
        EVP_DigestUpdate(ctx, "\0", 1);
    }
    unsigned char md[32];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out.push_back(hex[md[i] >> 4]);
        out.push_back(hex[md[i] & 15]);
    }
    return out;
}

}  // namespace

std::string default_rules_dir() {
#ifdef SLUICE_RULES_DIR
    return SLUICE_RULES_DIR;
#else
    return "rules";
#endif
}

RuleSetResult build_rule_set(const std::vector<RuleSource>& sources, const RuleSetOptions& opts) {
    RuleSetResult res;
    auto set = std::make_unique<RuleSet>();
    set->sources = sources;
    set->options = opts;
    // Every file read is recorded in the set's options, so a bundle can carry it.
    // `path` is the input's key (what a bundle carries it under); `as_written` the dataset
    // path in the rule, resolved beneath the dataset directories when confined.
    std::string why;
    auto read_input = [&](const std::string& path, std::string& out,
                          const std::string* as_written = nullptr) {
        why.clear();
        if (auto it = opts.files.find(path); it != opts.files.end()) {
            out = it->second;
            return true;
        }
        if (opts.files_only) {
            why = "not in the bundle";
            return false;
        }
        if (as_written != nullptr && opts.confine_datasets) {
            if (!read_beneath(opts.dataset_dirs, *as_written, out, why)) return false;
        } else if (!read_file(path, out)) {
            return false;
        }
        set->options.files[path] = out;
        return true;
    };

    const std::string class_file = opts.classification_file.empty()
                                       ? shipped_file("classification.config")
                                       : opts.classification_file;
    set->options.classification_file = class_file;
    std::string class_text;
    if (!read_input(class_file, class_text)) {
        res.errors.push_back({{class_file, 0, 0}, "cannot read the classification table"});
        return res;
    }
    set->classes.parse(class_text, class_file, res.errors);

    // Variables are configuration: a bad one is the set's error, not each rule's that uses it.
    for (const auto& [name, value] : opts.vars.addresses) {
        AddressSet probe;
        std::string err;
        if (!parse_address_set(value, opts.vars, probe, err))
            res.errors.push_back({{"rule variables", 0, 0}, name + ": " + err});
    }
    for (const auto& [name, value] : opts.vars.ports) {
        PortSet probe;
        std::string err;
        if (!parse_port_set(value, opts.vars, probe, err))
            res.errors.push_back({{"rule variables", 0, 0}, name + ": " + err});
    }
    if (!res.errors.empty()) return res;

    ParseOptions po;
    po.dialect = opts.dialect;
    po.vars = opts.vars;
    po.keep_valid = opts.skip_invalid;
    // A rule that fails: in atomic mode the set fails with it, else it is left out and listed.
    auto rule_failed = [&](RuleError e) {
        (opts.skip_invalid ? set->skipped : res.errors).push_back(std::move(e));
    };
    std::vector<std::pair<DatasetDecl, std::string>> decls;  // with the path as written
    for (const RuleSource& src : sources) {
        ParsedFile pf = parse_rules(src.text, src.name, po);
        for (RuleError& e : pf.file_errors) res.errors.push_back(std::move(e));
        for (RuleError& e : pf.errors) rule_failed(std::move(e));
        for (Rule& r : pf.rules) set->rules.push_back(std::move(r));
        for (DatasetDecl& d : pf.datasets) {
            // Dataset paths are relative to the rule file that declares them (that is also
            // the key a bundle carries the file under).
            std::string written = d.load;
            if (!d.load.empty() && fs::path(d.load).is_relative())
                d.load = (fs::path(src.name).parent_path() / d.load).string();
            decls.emplace_back(std::move(d), std::move(written));
        }
        set->files.push_back(src.name);
    }

    // Datasets: configuration first, then inline declarations (which must agree on type).
    // A declaration that fails fails the rules that use it (skip_invalid: only those).
    std::map<std::string, std::string, std::less<>> dataset_failed;  // name -> why
    auto load_dataset = [&](const std::string& name, const std::string& type,
                            const std::string& path, const std::string& written,
                            const SourceLocation& where, bool inline_decl) {
        auto fail = [&](SourceLocation at, std::string msg) {
            if (inline_decl && opts.skip_invalid)
                dataset_failed.emplace(name, std::move(msg));
            else
                res.errors.push_back({std::move(at), std::move(msg)});
        };
        Dataset::Type t;
        if (!Dataset::type_from_name(type, t))
            return fail(where, "dataset " + name + ": unknown type '" + type + "'");
        if (auto it = set->datasets.find(name); it != set->datasets.end()) {
            if (it->second->type() != t)
                fail(where, "dataset " + name + " is declared again with another type");
            return;
        }
        auto ds = std::make_shared<Dataset>(name, t);
        std::string text, err;
        if (!read_input(path, text, &written))
            return fail(where, "dataset " + name + ": " +
                                   (why.empty() ? "cannot read '" + path + "'" : why));
        if (!ds->load(text, err)) return fail({path, 0, 0}, "dataset " + name + ": " + err);
        set->datasets.emplace(name, std::move(ds));
    };
    for (const auto& [name, df] : opts.datasets)
        load_dataset(name, df.type, df.path, df.path, {"configuration", 0, 0}, false);
    for (const auto& [d, written] : decls)
        load_dataset(d.name, d.type, d.load, written, d.where, true);

    // Whole-set checks: unique (gid, sid), known classtypes and datasets. The first rule with
    // a (gid, sid) keeps it; a later one is the one that fails.
    std::map<std::pair<uint32_t, uint32_t>, SourceLocation> seen;  // where each was defined
    std::vector<Rule> kept;
    kept.reserve(set->rules.size());
    for (Rule& r : set->rules) {
        auto rule_error = [&](std::string msg) {
            RuleError e{r.where, std::move(msg)};
            e.sid = r.sid;
            rule_failed(std::move(e));
        };
        if (auto it = seen.find({r.gid, r.sid}); it != seen.end()) {
            rule_error("duplicate sid " + std::to_string(r.sid) + " (first defined at " +
                       it->second.file + ":" + std::to_string(it->second.line) + ")");
            continue;
        }
        const Classtype* ct = nullptr;
        if (!r.classtype.empty()) {
            ct = set->classes.find(r.classtype);
            if (ct == nullptr) {
                rule_error("unknown classtype '" + r.classtype + "' (see " + class_file + ")");
                continue;
            }
        }
        bool datasets_ok = true;
        for (const Condition& c : r.conditions) {
            if (c.kind != Condition::Kind::Dataset || set->datasets.count(c.dataset.name)) continue;
            auto f = dataset_failed.find(c.dataset.name);
            rule_error(f != dataset_failed.end()
                           ? f->second
                           : "unknown dataset '" + c.dataset.name +
                                 "': declare it with type and load, or in the configuration");
            datasets_ok = false;
            break;
        }
        if (!datasets_ok) continue;
        set->severity.push_back(r.priority ? *r.priority : ct ? ct->priority : 3);
        set->category.push_back(ct ? ct->description : std::string());
        set->class_slot.push_back(class_slot(r.classtype));
        seen.emplace(std::make_pair(r.gid, r.sid), r.where);
        kept.push_back(std::move(r));
    }
    set->rules = std::move(kept);
    // Flowbit names become ids, in order of first use.
    std::map<std::string, uint16_t, std::less<>> bit_ids;
    for (Rule& r : set->rules)
        for (FlowbitsOp& op : r.flowbits)
            for (const std::string& n : op.names) {
                auto [it, fresh] = bit_ids.emplace(n, static_cast<uint16_t>(bit_ids.size()));
                if (fresh) set->flowbit_names.push_back(n);
                op.ids.push_back(it->second);
            }
    if (bit_ids.size() > 65535) res.errors.push_back({{"rules", 0, 0}, "more than 65535 flowbits"});
    std::map<std::string, uint16_t, std::less<>> int_ids;
    for (Rule& r : set->rules)
        for (FlowintOp& op : r.flowints) {
            auto [it, fresh] = int_ids.emplace(op.name, static_cast<uint16_t>(int_ids.size()));
            if (fresh) set->flowint_names.push_back(op.name);
            op.id = it->second;
        }
    if (int_ids.size() > 65535) res.errors.push_back({{"rules", 0, 0}, "more than 65535 flowints"});
    if (!res.errors.empty()) return res;
    set->digest = sha256_hex(sources);
    res.set = std::move(set);
    return res;
}

SkipSummary summarize_skipped(const std::vector<RuleError>& skipped) {
    SkipSummary s;
    s.skipped = skipped.size();
    std::map<std::string, size_t> by;
    for (const RuleError& e : skipped) {
        if (e.unsupported.empty())
            ++s.malformed;
        else
            ++by[e.unsupported];
    }
    s.unsupported.assign(by.begin(), by.end());
    std::stable_sort(s.unsupported.begin(), s.unsupported.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    return s;
}

std::string skip_report(const std::vector<RuleError>& skipped, size_t max_lines) {
    if (skipped.empty()) return {};
    std::string out;
    size_t shown = 0;
    for (const RuleError& e : skipped) {
        if (max_lines != 0 && shown == max_lines) {
            out += "... " + std::to_string(skipped.size() - shown) +
                   " more (sluice-dataplane --check-rules lists every one)\n";
            break;
        }
        out += e.where.file + ":" + std::to_string(e.where.line) + ":" +
               std::to_string(e.where.column) + ": skipped" +
               (e.sid != 0 ? " sid " + std::to_string(e.sid) : std::string()) + ": " + e.message +
               "\n";
        ++shown;
    }
    const SkipSummary sum = summarize_skipped(skipped);
    out += std::to_string(sum.skipped) + (sum.skipped == 1 ? " rule" : " rules") +
           " skipped: " + std::to_string(sum.skipped - sum.malformed) + " unsupported";
    if (!sum.unsupported.empty()) {
        out += " (";
        for (size_t i = 0; i < sum.unsupported.size(); ++i)
            out += (i ? ", " : "") + sum.unsupported[i].first + " " +
                   std::to_string(sum.unsupported[i].second);
        out += ")";
    }
    out += ", " + std::to_string(sum.malformed) + " malformed\n";
    return out;
}

RuleSetResult load_rule_files(const std::vector<std::string>& paths, const RuleSetOptions& opts) {
    std::vector<RuleSource> sources;
    RuleSetResult res;
    for (const std::string& p : paths) {
        std::error_code ec;
        if (fs::is_directory(p, ec)) {
            std::vector<std::string> files;
            for (const auto& e : fs::directory_iterator(p, ec))
                if (e.is_regular_file() && e.path().extension() == ".rules")
                    files.push_back(e.path().string());
            std::sort(files.begin(), files.end());
            if (files.empty())
                res.errors.push_back({{p, 0, 0}, "directory holds no *.rules files"});
            for (const std::string& f : files) {
                RuleSource s{f, {}};
                read_file(f, s.text);
                sources.push_back(std::move(s));
            }
            continue;
        }
        RuleSource s{p, {}};
        if (!read_file(p, s.text)) {
            res.errors.push_back({{p, 0, 0}, "cannot read rule file"});
            continue;
        }
        sources.push_back(std::move(s));
    }
    if (!res.errors.empty()) return res;
    return build_rule_set(sources, opts);
}

}  // namespace sluice::rules
