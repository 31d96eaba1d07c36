package dev.lockstep.api;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The {@code Idempotency-Key}s of operation requests, each with the call it started.
 * <p>
 * The first request with a key claims it; a request with a key already claimed gets the
 * first one's call, whose report it answers with instead of running the operation again.
 * A call that ended without a report (refused with a conflict, say) gives its key up, so
 * that a retry runs anew. Keys are kept as long as their reports: once there are more
 * keys than {@code capacity}, the oldest whose reports the coordinator no longer keeps
 * are forgotten.
 *
 * @param <R> the kind of report
 */
final class IdempotencyKeys<R> {

	private final int capacity;

	/** Guarded by this; in the order keys were claimed. */
	private final Map<String, Call<R>> calls = new LinkedHashMap<>();

	private final Function<R, String> id;

	IdempotencyKeys(int capacity, Function<R, String> id) {
		this.capacity = capacity;
		this.id = id;
	}

	/**
	 * Claims a key for a request, or finds the call that claimed it first.
	 * @param key the request's key
	 * @param fingerprint what the request asks for, compared with later requests
	 * @param kept whether the coordinator still keeps a report, by id
	 * @return the call, and whether this request claimed the key
	 */
	synchronized Claim<R> claim(String key, String fingerprint, Predicate<String> kept) {
		Call<R> existing = this.calls.get(key);
		if (existing != null && !expired(existing, kept)) {
			return new Claim<>(existing, false);
		}
		Call<R> call = new Call<>(fingerprint);
		this.calls.remove(key);
		this.calls.put(key, call);
		if (this.calls.size() > this.capacity) {
			forgetExpired(kept);
		}
		return new Claim<>(call, true);
	}

	/**
	 * Gives up a key whose call ended without a report.
	 */
	synchronized void release(String key, Call<R> call) {
		this.calls.remove(key, call);
	}

	synchronized int size() {
		return this.calls.size();
	}

	private void forgetExpired(Predicate<String> kept) {
		Iterator<Call<R>> calls = this.calls.values().iterator();
		while (calls.hasNext() && this.calls.size() > this.capacity) {
			if (expired(calls.next(), kept)) {
				calls.remove();
			}
		}
	}

	/**
	 * Whether the call ended with a report that is no longer kept.
	 */
	private boolean expired(Call<R> call, Predicate<String> kept) {
		R report = call.finished.getNow(null);
		return report != null && !kept.test(this.id.apply(report));
	}

	/**
	 * A key's claim.
	 *
	 * @param call the call that claimed the key
	 * @param first whether this request claimed it
	 * @param <R> the kind of report
	 */
	record Claim<R>(Call<R> call, boolean first) {
	}

	/**
	 * One operation request, as retries of it see it.
	 *
	 * @param <R> the kind of report
	 */
	static final class Call<R> {

		private final String fingerprint;

		/**
		 * The report when the operation started, or its final report if it never
		 * announced a start (a {@code noop}).
		 */
		final CompletableFuture<R> started = new CompletableFuture<>();

		/** The final report. */
		final CompletableFuture<R> finished = new CompletableFuture<>();

		Call(String fingerprint) {
			this.fingerprint = fingerprint;
		}

		String fingerprint() {
			return this.fingerprint;
		}

	}

}
