// libsrtp v3 -> v2 shim for mediasoup-worker (C++ only).
//
// The worker is written against libsrtp 3 (separate in/out buffers, size_t
// lengths). This header stands in for <srtp.h>: it includes the real libsrtp 2
// header and adds the v3 entry points the worker calls as C++ overloads that
// copy the input into the output buffer and run the v2 in-place function.
// The worker never configures MKI, so libsrtp 2 appends at most
// SRTP_MAX_TAG_LEN bytes to RTP and SRTP_MAX_TAG_LEN + 4 (SRTCP index) to RTCP.
#ifndef EDGEMEET_SRTP_V3_SHIM_H
#define EDGEMEET_SRTP_V3_SHIM_H

#include <srtp2/srtp.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>

// Error codes added in libsrtp 3.
inline constexpr srtp_err_status_t srtp_err_status_buffer_small = static_cast<srtp_err_status_t>(28);
inline constexpr srtp_err_status_t srtp_err_status_cryptex_err  = static_cast<srtp_err_status_t>(29);

namespace edgemeet_srtp_shim
{
	inline srtp_err_status_t Protect(
	  srtp_t ctx, const uint8_t* in, size_t inLen, uint8_t* out, size_t* outLen, size_t trailer, bool rtcp)
	{
		if (inLen > static_cast<size_t>(INT_MAX) - trailer)
			return srtp_err_status_bad_param;
		if (*outLen < inLen + trailer)
			return srtp_err_status_buffer_small;
		if (out != in)
			std::memmove(out, in, inLen);

		int len = static_cast<int>(inLen);
		const srtp_err_status_t err = rtcp ? srtp_protect_rtcp(ctx, out, &len) : srtp_protect(ctx, out, &len);

		if (err == srtp_err_status_ok)
			*outLen = static_cast<size_t>(len);

		return err;
	}

	inline srtp_err_status_t Unprotect(
	  srtp_t ctx, const uint8_t* in, size_t inLen, uint8_t* out, size_t* outLen, bool rtcp)
	{
		if (inLen > static_cast<size_t>(INT_MAX))
			return srtp_err_status_bad_param;
		if (*outLen < inLen)
			return srtp_err_status_buffer_small;
		if (out != in)
			std::memmove(out, in, inLen);

		int len = static_cast<int>(inLen);
		const srtp_err_status_t err = rtcp ? srtp_unprotect_rtcp(ctx, out, &len) : srtp_unprotect(ctx, out, &len);

		if (err == srtp_err_status_ok)
			*outLen = static_cast<size_t>(len);

		return err;
	}
} // namespace edgemeet_srtp_shim

inline srtp_err_status_t srtp_protect(
  srtp_t ctx, const uint8_t* rtp, size_t rtpLen, uint8_t* srtp, size_t* srtpLen, size_t /*mkiIndex*/)
{
	return edgemeet_srtp_shim::Protect(ctx, rtp, rtpLen, srtp, srtpLen, SRTP_MAX_TAG_LEN, false);
}

inline srtp_err_status_t srtp_protect_rtcp(
  srtp_t ctx, const uint8_t* rtcp, size_t rtcpLen, uint8_t* srtcp, size_t* srtcpLen, size_t /*mkiIndex*/)
{
	return edgemeet_srtp_shim::Protect(ctx, rtcp, rtcpLen, srtcp, srtcpLen, SRTP_MAX_TAG_LEN + 4, true);
}

inline srtp_err_status_t srtp_unprotect(
  srtp_t ctx, const uint8_t* srtp, size_t srtpLen, uint8_t* rtp, size_t* rtpLen)
{
	return edgemeet_srtp_shim::Unprotect(ctx, srtp, srtpLen, rtp, rtpLen, false);
}

inline srtp_err_status_t srtp_unprotect_rtcp(
  srtp_t ctx, const uint8_t* srtcp, size_t srtcpLen, uint8_t* rtcp, size_t* rtcpLen)
{
	return edgemeet_srtp_shim::Unprotect(ctx, srtcp, srtcpLen, rtcp, rtcpLen, true);
}

// v3 renamed srtp_remove_stream(); both take the SSRC in network byte order.
inline srtp_err_status_t srtp_stream_remove(srtp_t session, uint32_t ssrc)
{
	return srtp_remove_stream(session, ssrc);
}

#endif
