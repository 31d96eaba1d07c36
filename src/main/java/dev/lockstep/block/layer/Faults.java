package dev.lockstep.block.layer;

import java.io.IOException;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * The faults of one disk since its replication was last started: the first fault of each
 * {@link FaultClass}, with its time and cause. Recording and reading are cheap,
 * thread-safe and never block on I/O.
 */
public final class Faults {

	private final String disk;

	private volatile Map<FaultClass, Fault> faults = new EnumMap<>(FaultClass.class);

	public Faults(String disk) {
		this.disk = disk;
	}

	/** Records a fault unless one of the same class is already recorded. */
	public synchronized void record(FaultClass faultClass, String detail) {
		if (this.faults.containsKey(faultClass)) {
			return;
		}
		Map<FaultClass, Fault> copy = new EnumMap<>(FaultClass.class);
		copy.putAll(this.faults);
		copy.put(faultClass, new Fault(Instant.now(), detail));
		this.faults = copy;
	}

	/**
	 * Records the I/O fault of a request once (a fault already recorded further down
	 * passes through unchanged) and returns the exception to throw.
	 */
	public IOException recordIo(FaultClass faultClass, String what, long offset, IOException ex) {
		if (ex instanceof RecordedIOException) {
			return ex;
		}
		String detail = what + " at offset " + offset + ": " + describe(ex);
		record(faultClass, detail);
		return new RecordedIOException(detail, ex);
	}

	/** Forgets a class of fault (for example after the secondary was reached again). */
	synchronized void clear(FaultClass faultClass) {
		if (this.faults.containsKey(faultClass)) {
			Map<FaultClass, Fault> copy = new EnumMap<>(FaultClass.class);
			copy.putAll(this.faults);
			copy.remove(faultClass);
			this.faults = copy;
		}
	}

	/** Forgets every fault. */
	public synchronized void clear() {
		this.faults = new EnumMap<>(FaultClass.class);
	}

	boolean has(FaultClass faultClass) {
		return this.faults.containsKey(faultClass);
	}

	/** The number of fault classes recorded. */
	public int count() {
		return this.faults.size();
	}

	public Optional<Fault> get(FaultClass faultClass) {
		return Optional.ofNullable(this.faults.get(faultClass));
	}

	/** Returns one line per recorded fault, or empty when healthy. */
	public Optional<String> message() {
		Map<FaultClass, Fault> current = this.faults;
		if (current.isEmpty()) {
			return Optional.empty();
		}
		StringBuilder message = new StringBuilder();
		current.forEach((faultClass, fault) -> {
			if (message.length() > 0) {
				message.append("; ");
			}
			message.append("disk '")
				.append(this.disk)
				.append("': ")
				.append(faultClass.description())
				.append(" since ")
				.append(fault.since())
				.append(": ")
				.append(fault.detail());
		});
		return Optional.of(message.toString());
	}

	public static String describe(Throwable ex) {
		String message = ex.getMessage();
		String name = ex.getClass().getSimpleName();
		if (ex instanceof IOException && ex.getCause() != null && message != null
				&& message.equals(String.valueOf(ex.getCause()))) {
			return describe(ex.getCause());
		}
		return (message != null && !message.isBlank()) ? message : name;
	}

	public record Fault(Instant since, String detail) {
	}

}
