package dev.lockstep.replication;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.util.Assert;
import org.springframework.util.StringUtils;

/**
 * The ordered set of participants. Readers get immutable snapshots sorted by ascending
 * order (ties keep registration order), so an operation in progress is never disturbed by
 * a participant joining or leaving.
 */
public final class ParticipantRegistry {

	private static final Log logger = LogFactory.getLog(ParticipantRegistry.class);

	private final AtomicLong sequence = new AtomicLong();

	private final Object monitor = new Object();

	private volatile List<RegisteredParticipant> participants = List.of();

	/**
	 * Adds a participant.
	 * @param participant the participant
	 * @param order its position: lower values start first and stop last
	 * @param kind where it comes from
	 * @return a handle whose {@link Registration#close()} removes the participant
	 * @throws IllegalArgumentException if the name is blank or already taken
	 */
	public Registration register(ReplicationParticipant participant, int order, ParticipantKind kind) {
		Assert.notNull(participant, "Participant must not be null");
		String name = participant.name();
		Assert.isTrue(StringUtils.hasText(name), () -> "Participant " + participant.getClass().getName()
				+ " has no name: name() must return a non-blank, unique name");
		synchronized (this.monitor) {
			for (RegisteredParticipant existing : this.participants) {
				if (existing.name().equals(name)) {
					throw new IllegalArgumentException("A participant named '" + name + "' is already registered ("
							+ existing + "); participant names must be unique");
				}
			}
			RegisteredParticipant registered = new RegisteredParticipant(participant, order, kind,
					this.sequence.incrementAndGet());
			List<RegisteredParticipant> updated = new ArrayList<>(this.participants);
			updated.add(registered);
			updated.sort(RegisteredParticipant.ORDER);
			this.participants = List.copyOf(updated);
			logger.info("Registered participant " + registered);
			return () -> unregister(registered);
		}
	}

	private void unregister(RegisteredParticipant registered) {
		synchronized (this.monitor) {
			if (!registered.isRegistered()) {
				return;
			}
			registered.unregister();
			List<RegisteredParticipant> updated = new ArrayList<>(this.participants);
			updated.remove(registered);
			this.participants = List.copyOf(updated);
		}
		logger.info("Unregistered participant " + registered);
	}

	/**
	 * Returns the registered participants in ascending order.
	 */
	public List<RegisteredParticipant> participants() {
		return this.participants;
	}

	/**
	 * Returns the participant with the given name, if registered.
	 */
	public Optional<RegisteredParticipant> find(String name) {
		return this.participants.stream().filter((participant) -> participant.name().equals(name)).findFirst();
	}

	/**
	 * A registration of one participant.
	 */
	@FunctionalInterface
	public interface Registration extends AutoCloseable {

		/**
		 * Removes the participant from the registry. An operation already running skips
		 * it from then on. Closing twice has no effect.
		 */
		@Override
		void close();

	}

}
