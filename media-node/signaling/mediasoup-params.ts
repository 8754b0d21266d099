import type { types } from 'mediasoup';
import type { DtlsParametersWire, RtpCapabilitiesWire, RtpParametersWire } from '../../schema/wire/index.js';

/*
 * The wire schemas check the structure of mediasoup's parameter objects; mediasoup validates the
 * details itself (its errors become MEDIA_ERROR). These are the only places a parsed wire value
 * is handed to mediasoup under mediasoup's own type.
 */
export const toRtpCapabilities = (wire: RtpCapabilitiesWire) => wire as types.RtpCapabilities;
export const toRtpParameters = (wire: RtpParametersWire) => wire as types.RtpParameters;
export const toDtlsParameters = (wire: DtlsParametersWire) => wire as types.DtlsParameters;
