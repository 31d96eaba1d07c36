package dev.lockstep.block.replicated;

import java.io.IOException;
import java.time.Duration;

import io.micrometer.core.instrument.MeterRegistry;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import dev.lockstep.block.DiskEngine;
import dev.lockstep.block.NbdTlsEngines;
import dev.lockstep.block.nbd.client.NbdClient;

/**
 * The block replication participant, present with the disk engine (unless
 * {@code lockstep.block.enabled=false}). The coordinator collects it like any other
 * participant bean.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(prefix = "lockstep.block", name = "enabled", havingValue = "true", matchIfMissing = true)
class BlockReplicationConfiguration {

	@Bean(destroyMethod = "close")
	BlockReplicationParticipant blockReplicationParticipant(DiskEngine diskEngine,
			BlockReplicationProperties properties, ObjectProvider<MeterRegistry> meterRegistry,
			ObjectProvider<NbdTlsEngines> tlsEngines) throws IOException {
		Duration timeout = properties.replication().connectTimeout();
		NbdClient.Options options = NbdClient.Options.defaults()
			.withMaxInFlight(properties.replication().maxInFlight());
		// Closing waits for requests in flight; a planned stop has drained them already.
		options = new NbdClient.Options(options.maxInFlight(), options.structuredReplies(), false, timeout,
				Duration.ofSeconds(5));
		NbdTlsEngines engines = tlsEngines.getIfAvailable();
		if (properties.peerTls() && engines == null) {
			throw new IllegalStateException("lockstep.block.peer is " + properties.peer()
					+ ", which needs TLS material: set lockstep.block.nbd.tls.bundle to an SSL bundle");
		}
		if (engines != null) {
			options = options.withTls(engines::clientEngine);
		}
		BlockReplicationParticipant participant = new BlockReplicationParticipant(
				new NbdEngineAccess(diskEngine, options, properties.peer(), properties.replica().allowedPeers()),
				properties);
		meterRegistry.ifAvailable(participant::bindTo);
		return participant;
	}

}
