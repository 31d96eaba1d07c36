package dev.lockstep.https;

import java.security.cert.CertificateException;

/**
 * A server certificate that this node's HTTPS client refused, with the reason, so that a
 * failure can say which check failed without reading exception messages.
 */
public final class CertificateRefusedException extends CertificateException {

	private static final long serialVersionUID = 1L;

	private final Reason reason;

	CertificateRefusedException(Reason reason, String message, Throwable cause) {
		super(message, cause);
		this.reason = reason;
	}

	/**
	 * Returns why the certificate was refused.
	 * @return the reason
	 */
	public Reason reason() {
		return this.reason;
	}

	/**
	 * Why a server certificate was refused.
	 */
	public enum Reason {

		/** No trusted authority issued it. */
		UNTRUSTED("not trusted"),

		/** It, or a certificate of its chain, has expired. */
		EXPIRED("expired"),

		/** It, or a certificate of its chain, is not valid yet. */
		NOT_YET_VALID("not valid yet"),

		/** It does not name the host that was called. */
		NAME_MISMATCH("name mismatch");

		private final String description;

		Reason(String description) {
			this.description = description;
		}

		/**
		 * Returns the reason in a few words, for messages.
		 * @return the description
		 */
		public String description() {
			return this.description;
		}

	}

}
