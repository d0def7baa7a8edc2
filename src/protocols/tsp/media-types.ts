/** RFC 3161 §3.4: the media types of a time-stamp query and reply over HTTP (shared by the client and the responder). */
export const TIMESTAMP_QUERY_CONTENT_TYPE = "application/timestamp-query";
export const TIMESTAMP_REPLY_CONTENT_TYPE = "application/timestamp-reply";
