package dev.lockstep.remote;

/**
 * A call to a remote participant that did not succeed: a status other than 2xx, a refused
 * connection or a timeout. The message names the request and says what happened.
 */
public final class RemoteParticipantException extends Exception {

	private static final long serialVersionUID = 1L;

	RemoteParticipantException(String message) {
		super(message);
	}

	RemoteParticipantException(String message, Throwable cause) {
		super(message, cause);
	}

}
