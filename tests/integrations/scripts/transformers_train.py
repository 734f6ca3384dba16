"""A tiny Transformers Trainer run (a randomly initialised BERT built from a config: no download).

Run as a script or as a notebook cell; writes the Trainer's own log history to transformers_train.json.
"""
import json
import os

import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

from jupyter_tracker.integrations.transformers import TrackerCallback

torch.manual_seed(0)


class Tokens(torch.utils.data.Dataset):
    def __init__(self, n, seed):
        generator = torch.Generator().manual_seed(seed)
        self.x = torch.randint(0, 64, (n, 8), generator=generator)
        self.y = (self.x[:, 0] > 32).long()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"input_ids": self.x[i], "attention_mask": torch.ones(8, dtype=torch.long), "labels": self.y[i]}


def tiny_model():
    config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=16, num_labels=2)
    return BertForSequenceClassification(config)


CHECKPOINTS = os.environ.get("LOG_CHECKPOINTS") == "1"  # save every 3 steps, stored as artifacts
args = TrainingArguments(output_dir="hf_out", max_steps=6, per_device_train_batch_size=8, logging_steps=1,
                         eval_strategy="steps", eval_steps=3, save_strategy="steps" if CHECKPOINTS else "no",
                         save_steps=3, report_to="none", use_cpu=True,
                         run_name="tiny", learning_rate=1e-3, disable_tqdm=True, seed=0)
trainer = Trainer(model=tiny_model(), args=args, train_dataset=Tokens(64, 1), eval_dataset=Tokens(16, 2),
                  callbacks=[TrackerCallback(project="hf", tags=["tiny"], log_checkpoints=CHECKPOINTS)])
trainer.train()
trainer.evaluate()  # after training: the callback resumes its run for these values, then finishes it

# report_to="tracker" works once the integration is imported; TrainingArguments.project names the project
args2 = TrainingArguments(output_dir="hf_out2", max_steps=2, per_device_train_batch_size=8, logging_steps=1,
                          save_strategy="no", report_to="tracker", project="hf-report", use_cpu=True,
                          disable_tqdm=True, seed=0)
Trainer(model=tiny_model(), args=args2, train_dataset=Tokens(32, 3)).train()

with open("transformers_train.json", "w") as handle:
    json.dump({"log_history": trainer.state.log_history}, handle)
