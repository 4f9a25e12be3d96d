"""Tiny random-weight pipelines for tests and CPU benchmarks (as diffusers' own tests build them).

Everything is saved with safetensors into a folder that the registry then loads like real weights.
"""

from __future__ import annotations

import json
from pathlib import Path


def _bytes_to_unicode() -> dict[int, str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def tiny_tokenizer(folder: Path):
    """A CLIP tokenizer over single bytes (514 tokens) with a few merges, model_max_length 77."""
    from transformers import CLIPTokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    chars = list(_bytes_to_unicode().values())
    vocab = {}
    for c in chars:
        vocab[c] = len(vocab)
    for c in chars:
        vocab[c + "</w>"] = len(vocab)
    merges = ["#version: 0.2", "f a", "fa c", "s k", "sk i", "ski n</w>"]
    for m in merges[1:]:
        a, b = m.split()
        vocab.setdefault(a + b, len(vocab))
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("\n".join(merges) + "\n")
    return CLIPTokenizer.from_pretrained(str(folder), model_max_length=77)


def _text_encoder(vocab_size: int):
    import torch
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    cfg = CLIPTextConfig(bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1, pad_token_id=vocab_size - 1,
                         hidden_size=32, intermediate_size=37, layer_norm_eps=1e-05, num_attention_heads=4,
                         num_hidden_layers=2, vocab_size=vocab_size, projection_dim=32)
    return CLIPTextModel(cfg).eval()


def _vae():
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    return AutoencoderKL(block_out_channels=[8, 16], in_channels=3, out_channels=3,
                         down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                         latent_channels=4, norm_num_groups=4, sample_size=64)


def _unet(in_channels=4, out_channels=4):
    import torch
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    return UNet2DConditionModel(block_out_channels=(8, 16), layers_per_block=1, sample_size=32,
                                in_channels=in_channels, out_channels=out_channels,
                                down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
                                norm_num_groups=4, attention_head_dim=4)


def _common(folder: Path):
    tok = tiny_tokenizer(folder / "_tok")
    return tok, _text_encoder(len(tok))


def save_tiny_sd(folder: Path, inpainting: bool = False) -> Path:
    from diffusers import DDIMScheduler, StableDiffusionInpaintPipeline, StableDiffusionPipeline

    folder = Path(folder)
    tok, te = _common(folder)
    sched = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                          set_alpha_to_one=False, steps_offset=1)
    cls = StableDiffusionInpaintPipeline if inpainting else StableDiffusionPipeline
    pipe = cls(unet=_unet(9 if inpainting else 4), vae=_vae(), text_encoder=te, tokenizer=tok, scheduler=sched,
               safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


def save_tiny_controlnet(folder: Path, seed: int = 0) -> Path:
    import torch
    from diffusers import ControlNetModel

    torch.manual_seed(seed)
    net = ControlNetModel(block_out_channels=(8, 16), layers_per_block=1, in_channels=4,
                          down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), cross_attention_dim=32,
                          conditioning_embedding_out_channels=(4, 8), norm_num_groups=4, attention_head_dim=4)
    # Random (not zero) output convolutions, so the conditioning image visibly matters in tests.
    with torch.no_grad():
        for m in list(net.controlnet_down_blocks) + [net.controlnet_mid_block, net.controlnet_cond_embedding.conv_out]:
            torch.nn.init.normal_(m.weight, std=0.2)
    net.save_pretrained(folder, safe_serialization=True)
    return Path(folder)


def save_tiny_marigold(folder: Path, kind: str = "appearance") -> Path:
    from diffusers import DDIMScheduler, MarigoldIntrinsicsPipeline

    folder = Path(folder)
    tok, te = _common(folder)
    if kind == "appearance":
        names = ["albedo", "roughness", "metallicity"]
        props = {"target_names": names,
                 "albedo": {"prediction_space": "srgb", "sub_target_names": [None, None, None], "up_to_scale": False},
                 "roughness": {"prediction_space": "linear", "sub_target_names": ["roughness", "metallicity", None], "up_to_scale": False},
                 "metallicity": {"prediction_space": "linear", "sub_target_names": ["roughness", "metallicity", None], "up_to_scale": False}}
        names = names[:2]
        props["target_names"] = names
        del props["metallicity"]
    else:
        names = ["albedo", "shading", "residual"]
        props = {"target_names": names}
        for n in names:
            props[n] = {"prediction_space": "linear", "sub_target_names": [None, None, None], "up_to_scale": n != "albedo"}
    t = len(names)
    sched = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                          set_alpha_to_one=False, prediction_type="v_prediction", timestep_spacing="trailing")
    pipe = MarigoldIntrinsicsPipeline(unet=_unet((1 + t) * 4, t * 4), vae=_vae(), scheduler=sched, text_encoder=te,
                                      tokenizer=tok, prediction_type="intrinsics", target_properties=props,
                                      default_denoising_steps=2, default_processing_resolution=64)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


def save_tiny_registry(root: Path) -> Path:
    """Every role as a tiny model under `root`, plus root/models.yaml pointing at them (relative paths)."""
    import yaml

    root = Path(root)
    save_tiny_sd(root / "sd")
    save_tiny_sd(root / "sd-inpaint", inpainting=True)
    save_tiny_controlnet(root / "cn-depth", seed=1)
    save_tiny_controlnet(root / "cn-normal", seed=2)
    save_tiny_marigold(root / "marigold-appearance", "appearance")
    save_tiny_marigold(root / "marigold-lighting", "lighting")
    reg = {
        "runtime": {"device": "cpu", "dtype": "auto", "cpu_offload": False},
        "models": {
            "text2image": {"source": "./sd", "revision": "tiny", "scheduler": "DDIMScheduler"},
            "inpainting": {"source": "./sd-inpaint", "revision": "tiny"},
            "controlnet_depth": {"source": "./cn-depth", "revision": "tiny"},
            "controlnet_normal": {"source": "./cn-normal", "revision": "tiny"},
            "intrinsics": {"source": "./marigold-appearance", "revision": "tiny"},
            "intrinsics_lighting": {"source": "./marigold-lighting", "revision": "tiny"},
        },
    }
    (root / "models.yaml").write_text(yaml.safe_dump(reg, sort_keys=False))
    return root / "models.yaml"


# ---- full-size, random weights (GPU timing: weights do not change how long a forward takes) ----------
# The architecture hyper-parameters of the published configs: stable-diffusion-v1-5 unet/ vae/ and its
# CLIP ViT-L/14 text encoder, lllyasviel/control_v11*_sd15_* ControlNets.
SD15_UNET = dict(block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, sample_size=64,
                 down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                 up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3, cross_attention_dim=768,
                 attention_head_dim=8, norm_num_groups=32)
SD15_VAE = dict(block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4, sample_size=512,
                down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                norm_num_groups=32)
SD15_TEXT = dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12,
                 max_position_embeddings=77, vocab_size=49408, projection_dim=768, hidden_act="quick_gelu")
SD15_CONTROLNET = dict(block_out_channels=(320, 640, 1280, 1280), layers_per_block=2,
                       down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",), cross_attention_dim=768,
                       attention_head_dim=8, norm_num_groups=32, conditioning_embedding_out_channels=(16, 32, 96, 256))


def save_sd15_registry(root: Path, dtype: str = "float16", device: str = "auto") -> Path:
    """SD1.5-class text2image, inpainting (9-channel UNet) and depth/normal ControlNets with random
    weights, saved as safetensors under `root` in `dtype`, plus root/models.yaml (UniPC, as the default
    registry) pointing at them. ~5 GB on disk in float16."""
    import torch
    import yaml
    from diffusers import (AutoencoderKL, ControlNetModel, StableDiffusionInpaintPipeline, StableDiffusionPipeline,
                           UNet2DConditionModel, UniPCMultistepScheduler)
    from transformers import CLIPTextConfig, CLIPTextModel

    root = Path(root)
    tok = tiny_tokenizer(root / "_tok")  # ids < 600: any vocabulary times the same
    torch_dtype = getattr(torch, dtype)
    sched = UniPCMultistepScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1)
    torch.manual_seed(0)
    text = CLIPTextModel(CLIPTextConfig(**SD15_TEXT, bos_token_id=len(tok) - 2, eos_token_id=len(tok) - 1,
                                        pad_token_id=len(tok) - 1)).eval()
    vae = AutoencoderKL(**SD15_VAE)
    for name, cls, channels in (("sd", StableDiffusionPipeline, 4), ("sd-inpaint", StableDiffusionInpaintPipeline, 9)):
        unet = UNet2DConditionModel(**SD15_UNET, in_channels=channels, out_channels=4)
        pipe = cls(unet=unet, vae=vae, text_encoder=text, tokenizer=tok, scheduler=sched, safety_checker=None,
                   feature_extractor=None, requires_safety_checker=False).to(torch_dtype)
        pipe.save_pretrained(root / name, safe_serialization=True)
        del pipe, unet
    for name in ("cn-depth", "cn-normal"):
        ControlNetModel(**SD15_CONTROLNET).to(torch_dtype).save_pretrained(root / name, safe_serialization=True)
    reg = {
        "runtime": {"device": device, "dtype": dtype, "cpu_offload": False},
        "models": {
            "text2image": {"source": "./sd", "revision": "random-sd15", "scheduler": "UniPCMultistepScheduler"},
            "inpainting": {"source": "./sd-inpaint", "revision": "random-sd15", "scheduler": "UniPCMultistepScheduler"},
            "controlnet_depth": {"source": "./cn-depth", "revision": "random-sd15"},
            "controlnet_normal": {"source": "./cn-normal", "revision": "random-sd15"},
        },
    }
    (root / "models.yaml").write_text(yaml.safe_dump(reg, sort_keys=False))
    return root / "models.yaml"
