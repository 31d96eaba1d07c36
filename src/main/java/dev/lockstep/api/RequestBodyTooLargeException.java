package dev.lockstep.api;

import java.io.IOException;

/**
 * Thrown while a request body is read, as soon as it passes the size limit. Whoever reads
 * the body (a message converter, for example) may wrap it; the API still answers
 * {@code 413}.
 */
public final class RequestBodyTooLargeException extends IOException {

	private final long limit;

	/**
	 * Creates an exception for a body larger than {@code limit} bytes.
	 * @param limit the largest body accepted, in bytes
	 */
	public RequestBodyTooLargeException(long limit) {
		super("request body larger than " + limit + " bytes");
		this.limit = limit;
	}

	/**
	 * Returns the largest body accepted, in bytes.
	 * @return the limit
	 */
	public long limit() {
		return this.limit;
	}

	/**
	 * Returns the limit as a sentence for a problem's detail.
	 * @param limit the largest body accepted, in bytes
	 * @return the detail
	 */
	public static String detail(long limit) {
		return "Request bodies are limited to " + limit + " bytes";
	}

}
