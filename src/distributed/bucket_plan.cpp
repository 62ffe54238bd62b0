#include "distributed/bucket_plan.h"

#include <fmt/format.h>

#include "common/error.h"

namespace distgru::dist {

BucketPlan plan_buckets(const std::vector<int64_t>& numels, int64_t element_size, int64_t bucket_bytes) {
  DISTGRU_CHECK(element_size > 0, "plan_buckets: element size must be positive");
  BucketPlan plan;
  plan.element_size = element_size;
  plan.offset_of.assign(numels.size(), 0);
  plan.bucket_of.assign(numels.size(), 0);
  for (size_t k = numels.size(); k-- > 0;) {
    DISTGRU_CHECK(numels[k] >= 0, "plan_buckets: negative size");
    const bool fits = !plan.buckets.empty() &&
                      (bucket_bytes <= 0 ||
                       (plan.buckets.back().numel + numels[k]) * element_size <= bucket_bytes);
    if (!fits) {
      Bucket next;
      next.offset = plan.numel;
      plan.buckets.push_back(next);
    }
    auto& bucket = plan.buckets.back();
    bucket.params.push_back(k);
    plan.offset_of[k] = plan.numel;
    plan.bucket_of[k] = plan.buckets.size() - 1;
    bucket.numel += numels[k];
    plan.numel += numels[k];
  }
  return plan;
}

std::string BucketPlan::describe() const {
  std::string out = fmt::format("{} bucket{}:", buckets.size(), buckets.size() == 1 ? "" : "s");
  for (size_t b = 0; b < buckets.size(); ++b) {
    out += fmt::format("{} {:.2f} MB ({} tensor{})", b ? "," : "",
                       static_cast<double>(buckets[b].numel * element_size) / 1e6,
                       buckets[b].params.size(), buckets[b].params.size() == 1 ? "" : "s");
  }
  return out;
}

}  // namespace distgru::dist
