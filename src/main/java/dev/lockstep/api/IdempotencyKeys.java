package dev.lockstep.api;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;

import dev.lockstep.replication.OperationReport;

/**
 * The {@code Idempotency-Key}s of operation requests, each with the call it started.
 * <p>
 * The first request with a key claims it; a request with a key already claimed gets the
 * first one's call, whose report it answers with instead of running the operation again.
 * A call that ended without a report (refused with a conflict, say) gives its key up, so
 * that a retry runs anew. Keys are kept as long as their reports: once there are more
 * keys than {@code capacity}, the oldest whose reports the coordinator no longer keeps
 * are forgotten.
 */
final class IdempotencyKeys {

	private final int capacity;

	/** Guarded by this; in the order keys were claimed. */
	private final Map<String, Call> calls = new LinkedHashMap<>();

	IdempotencyKeys(int capacity) {
		this.capacity = capacity;
	}

	/**
	 * Claims a key for a request, or finds the call that claimed it first.
	 * @param key the request's key
	 * @param fingerprint what the request asks for, compared with later requests
	 * @param kept whether the coordinator still keeps a report, by id
	 * @return the call, and whether this request claimed the key
	 */
	synchronized Claim claim(String key, String fingerprint, Predicate<String> kept) {
		Call existing = this.calls.get(key);
		if (existing != null && !existing.expired(kept)) {
			return new Claim(existing, false);
		}
		Call call = new Call(fingerprint);
		this.calls.remove(key);
		this.calls.put(key, call);
		if (this.calls.size() > this.capacity) {
			forgetExpired(kept);
		}
		return new Claim(call, true);
	}

	/**
	 * Gives up a key whose call ended without a report.
	 */
	synchronized void release(String key, Call call) {
		this.calls.remove(key, call);
	}

	synchronized int size() {
		return this.calls.size();
	}

	private void forgetExpired(Predicate<String> kept) {
		Iterator<Call> calls = this.calls.values().iterator();
		while (calls.hasNext() && this.calls.size() > this.capacity) {
			if (calls.next().expired(kept)) {
				calls.remove();
			}
		}
	}

	/**
	 * A key's claim.
	 *
	 * @param call the call that claimed the key
	 * @param first whether this request claimed it
	 */
	record Claim(Call call, boolean first) {
	}

	/**
	 * One operation request, as retries of it see it.
	 */
	static final class Call {

		private final String fingerprint;

		/**
		 * The report when the operation started, or its final report if it never
		 * announced a start (a {@code noop}).
		 */
		final CompletableFuture<OperationReport> started = new CompletableFuture<>();

		/** The final report. */
		final CompletableFuture<OperationReport> finished = new CompletableFuture<>();

		Call(String fingerprint) {
			this.fingerprint = fingerprint;
		}

		String fingerprint() {
			return this.fingerprint;
		}

		/**
		 * Whether the call ended with a report that the coordinator no longer keeps.
		 */
		boolean expired(Predicate<String> kept) {
			OperationReport report = this.finished.getNow(null);
			return report != null && !kept.test(report.id());
		}

	}

}
