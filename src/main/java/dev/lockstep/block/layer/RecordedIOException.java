package dev.lockstep.block.layer;

import java.io.IOException;

/**
 * An I/O failure that has already been recorded as a replication fault, so that outer
 * layers do not record it again under another class.
 */
public final class RecordedIOException extends IOException {

	private static final long serialVersionUID = 1L;

	public RecordedIOException(String message, Throwable cause) {
		super(message, cause);
	}

}
