//
// TokenBucket.h
//
// Plugin: ratelimit
// A token bucket on explicit time (microseconds), so tests need no clock.
//

#ifndef imgate_ratelimit_TokenBucket_INCLUDED
#define imgate_ratelimit_TokenBucket_INCLUDED

#include <cstdint>

namespace imgate {
namespace ratelimit {

struct Rate
	/// rate tokens per second, at most burst saved up.
{
	double perSecond = 1;
	double burst = 1;

	std::int64_t refillMicros() const
		/// Time for an empty bucket to fill up: after it, an idle bucket is
		/// the same as a new one (and can be forgotten).
	{
		return static_cast<std::int64_t>(burst / perSecond * 1e6) + 1;
	}
};


class TokenBucket
	/// Starts full. Not thread-safe (one owner, or the caller's lock).
{
public:
	TokenBucket() = default;

	bool take(const Rate& rate, std::int64_t nowMicros)
		/// Takes one token if there is one. nowMicros > 0 (0 marks a
		/// bucket never taken from), never decreasing.
	{
		if (_lastMicros == 0) _tokens = rate.burst;
		else if (nowMicros > _lastMicros)
		{
			_tokens += static_cast<double>(nowMicros - _lastMicros) * rate.perSecond / 1e6;
		}
		if (_tokens > rate.burst) _tokens = rate.burst; // also when a reload lowered the burst
		_lastMicros = nowMicros;
		if (_tokens < 1) return false;
		_tokens -= 1;
		return true;
	}

	void giveBack(const Rate& rate)
		/// Returns the token the last take() took (a send another bucket
		/// refused after all).
	{
		_tokens += 1;
		if (_tokens > rate.burst) _tokens = rate.burst;
	}

	std::int64_t lastMicros() const
	{
		return _lastMicros;
	}

private:
	double _tokens = 0;
	std::int64_t _lastMicros = 0;
};

} } // namespace imgate::ratelimit

#endif // imgate_ratelimit_TokenBucket_INCLUDED
