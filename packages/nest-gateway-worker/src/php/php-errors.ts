/** Bytes from a PHP peer that are not what its wire allows (a reply stream gone wrong): closes that one link. */
export class StreamDecoderError extends Error {
  override name = 'StreamDecoderError';
}
