"""A tiny Lightning fit + test on synthetic data (lightning.pytorch, or pytorch_lightning with FLAVOUR).

Run as a script or as a notebook cell; writes Lightning's own metrics to lightning_train.json.
"""
import json
import os

import torch

if os.environ.get("FLAVOUR", "lightning") == "lightning":
    import lightning as L

    from jupyter_tracker.integrations.lightning import TrackerLogger
else:
    import pytorch_lightning as L

    from jupyter_tracker.integrations.pytorch_lightning import TrackerLogger


class Regressor(L.LightningModule):
    def __init__(self, lr=0.05, hidden=8):
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))

    def _loss(self, batch):
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def training_step(self, batch, index):
        loss = self._loss(batch)
        self.log("train_loss", loss, on_step=True, on_epoch=True)
        return loss

    def validation_step(self, batch, index):
        self.log("val_loss", self._loss(batch))

    def test_step(self, batch, index):
        self.log("test_loss", self._loss(batch))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


L.seed_everything(0, verbose=False)
generator = torch.Generator().manual_seed(0)
x = torch.randn(64, 4, generator=generator)
data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)), batch_size=16)
logger = TrackerLogger(project="pl", config={"data": "synthetic"},
                       log_checkpoints=os.environ.get("LOG_CHECKPOINTS") == "1")
trainer = L.Trainer(max_epochs=3, logger=logger, log_every_n_steps=1, enable_progress_bar=False,
                    enable_model_summary=False, accelerator="cpu", default_root_dir="pl_out")
trainer.fit(Regressor(), data, data)
fit_metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
trainer.test(trainer.lightning_module, dataloaders=data, verbose=False)
with open("lightning_train.json", "w") as handle:
    json.dump({"fit": fit_metrics, "test": {k: float(v) for k, v in trainer.callback_metrics.items()},
               "version": logger.version, "checkpoint_dir": trainer.checkpoint_callback.dirpath}, handle)
