package dev.lockstep.block;

import io.micrometer.core.instrument.MeterRegistry;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import dev.lockstep.block.nbd.NbdServer;

/**
 * The disk engine's beans, present unless {@code lockstep.block.enabled=false}.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(prefix = "lockstep.block", name = "enabled", havingValue = "true", matchIfMissing = true)
class BlockConfiguration {

	@Bean
	ExportRegistry exportRegistry() {
		return new ExportRegistry();
	}

	@Bean
	NbdServer nbdServer(ExportRegistry exportRegistry, BlockProperties properties) {
		BlockProperties.NbdSettings nbd = properties.nbd();
		return new NbdServer(exportRegistry, new NbdServer.Settings(nbd.bind(), nbd.port(), nbd.maxConnections(),
				nbd.threadsPerConnection(), nbd.bufferBudget().toBytes(), nbd.handshakeTimeout()));
	}

	@Bean(destroyMethod = "close")
	DiskEngine diskEngine(BlockProperties properties, ExportRegistry exportRegistry, NbdServer nbdServer,
			ObjectProvider<MeterRegistry> meterRegistry) {
		DiskEngine engine = new DiskEngine(properties, exportRegistry, nbdServer);
		meterRegistry.ifAvailable(engine::bindTo);
		return engine;
	}

}
