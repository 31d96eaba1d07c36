package dev.lockstep.api;

import java.net.URI;
import java.util.Locale;

import org.springframework.http.HttpStatus;

/**
 * The problem types the API answers with; each is documented in {@code docs/errors.md}.
 */
enum ProblemType {

	MALFORMED_REQUEST(HttpStatus.BAD_REQUEST, "Malformed request"),

	INVALID_REQUEST(HttpStatus.BAD_REQUEST, "Invalid request"),

	NOT_FOUND(HttpStatus.NOT_FOUND, "Not found"),

	METHOD_NOT_ALLOWED(HttpStatus.METHOD_NOT_ALLOWED, "Method not allowed"),

	NOT_ACCEPTABLE(HttpStatus.NOT_ACCEPTABLE, "Not acceptable"),

	UNSUPPORTED_MEDIA_TYPE(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "Unsupported media type"),

	PAYLOAD_TOO_LARGE(HttpStatus.CONTENT_TOO_LARGE, "Request body too large"),

	OPERATION_CONFLICT(HttpStatus.CONFLICT, "Operation not allowed now"),

	VERIFY_REFUSED(HttpStatus.CONFLICT, "Verify not possible now"),
	FAILOVER_REFUSED(HttpStatus.CONFLICT, "Failover refused: the primary is alive"),

	PAIR_NOT_CONFIGURED(HttpStatus.CONFLICT, "No peer configured"),

	PAIR_REFUSED(HttpStatus.CONFLICT, "Pair operation not possible now"),

	PAIR_FAILED(HttpStatus.BAD_GATEWAY, "A node of the pair failed"),

	IDEMPOTENCY_KEY_REUSED(HttpStatus.UNPROCESSABLE_CONTENT, "Idempotency key reused"),

	PARTICIPANT_FAILED(HttpStatus.BAD_GATEWAY, "A participant failed"),

	PARTICIPANT_TIMED_OUT(HttpStatus.GATEWAY_TIMEOUT, "A participant timed out"),

	SHUTTING_DOWN(HttpStatus.SERVICE_UNAVAILABLE, "Node shutting down"),

	UNAUTHORIZED(HttpStatus.UNAUTHORIZED, "Unauthorized"),

	INTERNAL(HttpStatus.INTERNAL_SERVER_ERROR, "Internal error");

	private final HttpStatus status;

	private final String title;

	private final URI type;

	ProblemType(HttpStatus status, String title) {
		this.status = status;
		this.title = title;
		this.type = URI.create("urn:lockstep:problem:" + name().toLowerCase(Locale.ROOT).replace('_', '-'));
	}

	/**
	 * Returns the type for a status that no more specific type covers.
	 */
	static ProblemType forStatus(int status) {
		for (ProblemType type : values()) {
			if (type.status.value() == status) {
				return (type == MALFORMED_REQUEST) ? INVALID_REQUEST : type;
			}
		}
		return (status >= 400 && status < 500) ? INVALID_REQUEST : INTERNAL;
	}

	HttpStatus status() {
		return this.status;
	}

	String title() {
		return this.title;
	}

	URI type() {
		return this.type;
	}

}
