package dev.lockstep.api;

/**
 * A request reused an {@code Idempotency-Key} that an earlier request with another body
 * or another target claimed; answered with {@code 422}.
 */
final class IdempotencyKeyReusedException extends RuntimeException {

	IdempotencyKeyReusedException(String message) {
		super(message);
	}

}
