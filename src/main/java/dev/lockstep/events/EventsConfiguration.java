package dev.lockstep.events;

import dev.lockstep.block.replicated.BlockReplicationParticipant;
import dev.lockstep.pair.PairOperations;
import dev.lockstep.replication.ReplicationCoordinator;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Wires the event log, what feeds it and the stream's endpoint.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(EventsProperties.class)
class EventsConfiguration {

	@Bean
	EventLog eventLog(EventsProperties properties) {
		return new EventLog(properties.replay(), properties.clientBuffer());
	}

	@Bean
	CoordinatorEvents coordinatorEvents(EventLog log) {
		return new CoordinatorEvents(log);
	}

	@Bean
	ParticipantWatcher participantWatcher(EventLog log, ReplicationCoordinator coordinator,
			ObjectProvider<BlockReplicationParticipant> block, EventsProperties properties) {
		return new ParticipantWatcher(log, coordinator.errorSweep(), block.getIfAvailable(), properties.pollInterval());
	}

	@Bean
	@ConditionalOnProperty("lockstep.pair.peer-api")
	PeerWatcher peerWatcher(EventLog log, PairOperations pair, EventsProperties properties) {
		return new PeerWatcher(log, pair::reachPeer, properties.peerInterval());
	}

}
