#include "rules/pcre_options.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace sluice::rules {

uint32_t pcre2_options(const Pcre& p) {
    uint32_t o = 0;
    if (p.caseless) o |= PCRE2_CASELESS;
    if (p.dotall) o |= PCRE2_DOTALL;
    if (p.multiline) o |= PCRE2_MULTILINE;
    if (p.extended) o |= PCRE2_EXTENDED;
    return o;
}

bool pcre_compiles(const Pcre& p, std::string& why) {
    int ec = 0;
    PCRE2_SIZE eoff = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.pattern.data()),
                                     p.pattern.size(), pcre2_options(p), &ec, &eoff, nullptr);
    if (code != nullptr) {
        pcre2_code_free(code);
        return true;
    }
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(ec, msg, sizeof msg);
    why = "pcre " + p.source + ": " + reinterpret_cast<const char*>(msg) + " at pattern offset " +
          std::to_string(eoff);
    return false;
}

}  // namespace sluice::rules
